package matrix

// SetLimits sets the readers' caps (documents, values) for a test and
// returns what restores them.
func SetLimits(doc, value int64) func() {
	d, v := maxDocumentBytes, maxValueBytes
	maxDocumentBytes, maxValueBytes = doc, value
	return func() { maxDocumentBytes, maxValueBytes = d, v }
}

// The journal's file, for fault injection (journal_test.go).
type JournalFile = journalFile

var (
	CreateJournalOn = createJournal
	AppendJournalOn = appendJournal
)

// SetWindow sets the reader's first window size and returns what
// restores it.
func SetWindow(n int) func() {
	w := initialWindow
	initialWindow = n
	return func() { initialWindow = w }
}

// Validate is what Decode checks of a decoded document.
var Validate = validate
