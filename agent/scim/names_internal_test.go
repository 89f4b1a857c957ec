package scim

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSplitName(t *testing.T) {
	tests := []struct {
		name, in              string
		given, family, formal string
	}{
		{"two words", "Ann Admin", "Ann", "Admin", "Ann Admin"},
		{"three words", "Mary Ann Smith", "Mary Ann", "Smith", "Mary Ann Smith"},
		{"extra spaces", "  Mary \t Ann   Smith  ", "Mary Ann", "Smith", "Mary Ann Smith"},
		{"one word", "Zoe", "Zoe", "Zoe", "Zoe"},
		{"one word with spaces around", "  Zoe ", "Zoe", "Zoe", "Zoe"},
		{"case as written", "jean-luc PICARD", "jean-luc", "PICARD", "jean-luc PICARD"},
		{"hyphenated family name", "Ann Smith-Jones", "Ann", "Smith-Jones", "Ann Smith-Jones"},
		{"accents", "José Ñúñez", "José", "Ñúñez", "José Ñúñez"},
		{"Japanese, family name first", "山田 太郎", "太郎", "山田", "山田 太郎"},
		{"Chinese without a space", "王小明", "王小明", "王小明", "王小明"},
		{"Chinese, family name first", "王 小明", "小明", "王", "王 小明"},
		{"Korean, family name first", "김 민준", "민준", "김", "김 민준"},
		{"Katakana with a full-width space", "ヤマダ\u3000タロウ", "タロウ", "ヤマダ", "ヤマダ タロウ"},
		{"CJK mixed with Latin is read as Latin", "Taro 山田", "Taro", "山田", "Taro 山田"},
		{"family name first, with a comma", "Smith, John", "John", "Smith", "Smith, John"},
		{"family name first, two given names", "Smith,  John Paul", "John Paul", "Smith", "Smith, John Paul"},
		{"a suffix after a comma", "Jane Doe, PhD", "Jane", "Doe", "Jane Doe, PhD"},
		{"a suffix with dots", "John Smith, Jr.", "John", "Smith", "John Smith, Jr."},
		{"family name first and a suffix", "Smith, John, Jr.", "John", "Smith", "Smith, John, Jr."},
		{"a dangling comma", "Prince,", "Prince", "Prince", "Prince,"},
		{"quotes and apostrophes", `Robert "Bob" O'Neil`, `Robert "Bob"`, "O'Neil", `Robert "Bob" O'Neil`},
		{"email with a dot", "jane.doe@x.com", "jane", "doe", "jane doe"},
		{"email keeps the case", "Jane.Doe@X.com", "Jane", "Doe", "Jane Doe"},
		{"email with underscores and dashes", "mary_ann-smith@x.com", "mary ann", "smith", "mary ann smith"},
		{"email of one part", "zoe@x.com", "zoe", "zoe", "zoe"},
		{"email with a tag", "jane.doe+clay@x.com", "jane", "doe", "jane doe"},
		{"email with doubled separators", "jane..doe__x@x.com", "jane doe", "x", "jane doe x"},
		{"email of separators only", "._@x.com", "._", "._", "._"},
		{"email with spaces around", " jane.doe@x.com ", "jane", "doe", "jane doe"},
		{"a lone @ is a word", "@", "@", "@", "@"},
		{"no domain is a word", "jane@", "jane@", "jane@", "jane@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := splitName(tt.in)
			assert.True(t, ok)
			assert.Equal(t, personName{Given: tt.given, Family: tt.family, Formatted: tt.formal}, got)
			assert.NotEmpty(t, got.Given)
			assert.NotEmpty(t, got.Family)
		})
	}
	for _, empty := range []string{"", "   ", "\t\n"} {
		_, ok := splitName(empty)
		assert.False(t, ok, "%q derives nothing", empty)
	}
}

func TestDerivedName(t *testing.T) {
	tests := []struct {
		name string
		rec  userRecord
		want personName
	}{
		{"from the page's name", userRecord{Email: "ann@acme.test", Doc: map[string]any{"displayName": "Ann Admin"}},
			personName{"Ann", "Admin", "Ann Admin"}},
		{"from a name that is the address", userRecord{Email: "jane.doe@acme.test", Doc: map[string]any{"displayName": "jane.doe@acme.test"}},
			personName{"jane", "doe", "jane doe"}},
		{"from the address without a name", userRecord{Email: "ivy.vine@acme.test", Doc: map[string]any{}},
			personName{"ivy", "vine", "ivy vine"}},
		{"from the address when the name is blank", userRecord{Email: "ivy@acme.test", Doc: map[string]any{"displayName": "  "}},
			personName{"ivy", "ivy", "ivy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, derivedName(&tt.rec))
			doc := map[string]any{}
			assert.True(t, withName(doc, &tt.rec))
			assert.Equal(t, tt.want.doc(), doc["name"])
		})
	}
	kept := userRecord{Email: "rita@acme.test", Doc: map[string]any{"displayName": "Rita Ray", "name": map[string]any{"givenName": "Rita"}}}
	doc := map[string]any{}
	assert.False(t, withName(doc, &kept), "a stored name is kept as the client set it")
	assert.NotContains(t, doc, "name")
}
