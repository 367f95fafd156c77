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
