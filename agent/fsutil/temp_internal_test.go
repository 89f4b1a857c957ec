package fsutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A crash between writing the temporary file and naming it leaves the
// temporary file behind; scans must be able to recognise it by name.
func TestLeftoverTempIsRecognised(t *testing.T) {
	dir := t.TempDir()
	tmp, err := writeTemp(filepath.Join(dir, "acme-20240101T000000Z.json"), []byte(`{"work`), 0o600)
	require.NoError(t, err)

	assert.Equal(t, dir, filepath.Dir(tmp), "the temporary file is in the target's directory")
	assert.True(t, IsTemp(tmp), "IsTemp(%q)", tmp)
	_, err = os.Stat(filepath.Join(dir, "acme-20240101T000000Z.json"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the final name does not exist before the rename")
}
