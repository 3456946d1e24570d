package security

import (
	"crypto/rand"
	"math/big"
)

// Alphabets for RandomString.
const (
	// IDAlphabet is the alphabet of record ids: 15 of its characters make
	// an id, as in PocketBase.
	IDAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	// SecretAlphabet is the alphabet of secrets and token keys.
	SecretAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// RandomString returns n characters drawn uniformly from alphabet with
// crypto/rand. It panics only if the operating system's random source fails,
// which Go's crypto/rand treats as fatal too.
func RandomString(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("security: crypto/rand failed: " + err.Error())
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// NewID returns a new 15-character record id.
func NewID() string {
	return RandomString(15, IDAlphabet)
}
