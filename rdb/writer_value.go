package rdb

// WriteValue writes a whole value held in memory.
func (w *Writer) WriteValue(h KeyHeader, v *Value) error {
	switch v.Type {
	case TypeString:
		return w.WriteString(h, v.String)
	case TypeModule:
		return w.WriteModule(h, v.Module)
	case TypeStream:
		sw, err := w.BeginStream(h)
		if err != nil {
			return err
		}
		for _, e := range v.Stream.Entries {
			if err := sw.Add(e); err != nil {
				w.inValue = false
				return err
			}
		}
		info := v.Stream.StreamInfo
		return sw.Close(&info)
	}
	var n int64
	ttl := false
	switch v.Type {
	case TypeList, TypeSet:
		n = int64(len(v.Items))
	case TypeZSet:
		n = int64(len(v.ZSet))
	case TypeHash:
		n = int64(len(v.Hash))
		for _, f := range v.Hash {
			ttl = ttl || f.ExpireAt != 0
		}
	}
	cw, err := w.BeginCollection(h, v.Type, CollectionInfo{Count: n, FieldTTLs: ttl})
	if err != nil {
		return err
	}
	switch v.Type {
	case TypeList, TypeSet:
		for _, it := range v.Items {
			cw.Add(Element{Member: it})
		}
	case TypeZSet:
		for _, z := range v.ZSet {
			cw.Add(Element{Member: z.Member, Score: z.Score})
		}
	case TypeHash:
		for _, f := range v.Hash {
			cw.Add(Element{Member: f.Field, Value: f.Value, ExpireAt: f.ExpireAt})
		}
	}
	return cw.Close()
}
