package identity

// HashPeak is the most password hashes s ever computed at once.
func HashPeak(s *Service) int64 { return s.hashPeak.Load() }

// DecodeExportCursor is decodeExportCursor, for the fuzz test.
var DecodeExportCursor = decodeExportCursor
