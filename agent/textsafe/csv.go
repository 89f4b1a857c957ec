package textsafe

import "strings"

// formulaStarts are the first characters that make a spreadsheet (Excel,
// LibreOffice Calc, Google Sheets) read a CSV cell as a formula, per
// OWASP's CSV injection guidance: =, +, -, @, tab and carriage return.
const formulaStarts = "=+-@\t\r"

// CSVCell returns s as a CSV cell that a spreadsheet shows as text: when
// s starts with =, +, -, @, a tab or a carriage return, a single quote is
// put in front of it ("=HYPERLINK(…)" becomes "'=HYPERLINK(…)"). Any other
// s is returned unchanged.
//
// The rule applies to every cell alike, so a value that is a plain
// negative number ("-3") or an address starting with a hyphen gets the
// quote too; none of the roster's values is a number. Quoting the cell
// for the CSV format itself (commas, double quotes, line breaks) is the
// CSV writer's job, not CSVCell's.
func CSVCell(s string) string {
	if s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0 {
		return "'" + s
	}
	return s
}
