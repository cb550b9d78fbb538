// Package salvage checks RDB files that may be damaged and recovers what
// is intact in them.
//
// Scan reads a whole file, checks every record and value (framing,
// encodings, duplicate members, sorted-set order, stream consistency, the
// CRC-64 trailer) and keeps going after damage: it resynchronises on the
// next record boundary it can confirm by decoding the records that follow.
// Its Result says what was found: the records and keys that are intact,
// the damaged byte ranges, the keys known by name that were lost (Lost) and
// a bound on those that lay wholly inside damaged bytes (Hidden), with each
// Problem at its offset; Clean reports that nothing at all was wrong.
// WriteReport prints the Result for people.
//
// ScanParallel is the fast path for files that turn out intact: it
// validates on every core and, for any other file, reports that it is not
// clean, for the caller to run Scan, which alone explains damage. Salvage scans like Scan and writes a valid RDB file of
// the same version holding every intact record byte for byte, with a fresh
// checksum. PlausibleHeader lets a caller refuse input that is not an RDB
// file before reading all of it.
package salvage
