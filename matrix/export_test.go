package matrix

// The codec's fast path, for codec_test.go (package matrix_test, which
// imports the test fixtures of matrix/internal/matrixtest).
var (
	DecodeRunFast  = decodeRunFast
	SplitCellLines = splitCellLines
	SplitCells     = splitCells
)
