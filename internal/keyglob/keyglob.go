// Package keyglob matches keys against Redis glob patterns, as KEYS, SCAN
// MATCH and the commands' --match flags do: '*' any run of bytes, '?' one
// byte, '[abc]', '[^abc]' and '[a-z]' sets, '\' to take the next byte
// literally. Matching is by bytes, case-sensitive.
//
// Unlike a naive recursive matcher it backtracks only to the last '*', so
// a pattern like "*a*a*a*b" takes time proportional to pattern times key
// length, never exponential time.
package keyglob

// Match reports whether key matches pattern.
func Match(pattern, key []byte) bool {
	p, s := 0, 0
	star, mark := -1, 0 // position after the last '*', and the key position it resumes at
	for s < len(key) {
		if p < len(pattern) {
			switch pattern[p] {
			case '*':
				for p < len(pattern) && pattern[p] == '*' {
					p++
				}
				if p == len(pattern) {
					return true
				}
				star, mark = p, s
				continue
			default:
				if n, ok := one(pattern[p:], key[s]); ok {
					p += n
					s++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		mark++
		p, s = star, mark
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// one matches the single-byte token at the start of pat against c and
// returns the token's length. A '*' never reaches here.
func one(pat []byte, c byte) (n int, ok bool) {
	switch pat[0] {
	case '?':
		return 1, true
	case '\\':
		if len(pat) >= 2 {
			return 2, pat[1] == c
		}
		return 1, c == '\\'
	case '[':
		return class(pat, c)
	}
	return 1, pat[0] == c
}

// class matches a [...] set. An unterminated set runs to the pattern's end,
// as in Redis.
func class(pat []byte, c byte) (int, bool) {
	i := 1
	not := i < len(pat) && pat[i] == '^'
	if not {
		i++
	}
	match := false
	for i < len(pat) && pat[i] != ']' {
		switch {
		case pat[i] == '\\' && i+1 < len(pat):
			if pat[i+1] == c {
				match = true
			}
			i += 2
		case i+2 < len(pat) && pat[i+1] == '-' && pat[i+2] != ']':
			lo, hi := pat[i], pat[i+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			if c >= lo && c <= hi {
				match = true
			}
			i += 3
		default:
			if pat[i] == c {
				match = true
			}
			i++
		}
	}
	if i < len(pat) {
		i++ // the closing ']'
	}
	return i, match != not
}
