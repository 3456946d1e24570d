package security_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/security"
)

const testKey = "0123456789abcdef0123456789abcdef"

func TestEncryptRoundTrip(t *testing.T) {
	t.Parallel()
	for _, plain := range []string{"", "s3cret", strings.Repeat("x", 5000)} {
		a, err := security.Encrypt([]byte(plain), testKey)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := security.Encrypt([]byte(plain), testKey)
		if a == b {
			t.Fatal("two encryptions of the same text are equal: nonce reused")
		}
		if plain != "" && strings.Contains(a, plain) {
			t.Fatal("ciphertext holds the plaintext")
		}
		got, err := security.Decrypt(a, testKey)
		if err != nil || string(got) != plain {
			t.Fatalf("Decrypt = %q, %v; want %q", got, err, plain)
		}
	}
}

func TestDecryptRejects(t *testing.T) {
	t.Parallel()
	sealed, err := security.Encrypt([]byte("s3cret"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(sealed)
	flipped[20] ^= 1
	for name, tc := range map[string]struct{ text, key string }{
		"other key":  {sealed, "fedcba9876543210fedcba9876543210"},
		"tampered":   {string(flipped), testKey},
		"truncated":  {sealed[:10], testKey},
		"not base64": {"!!!", testKey},
	} {
		if _, err := security.Decrypt(tc.text, tc.key); !errors.Is(err, security.ErrDecrypt) {
			t.Errorf("%s: err = %v, want ErrDecrypt", name, err)
		}
	}
	if _, err := security.Encrypt([]byte("x"), "short"); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestEncryptForBindsAssociatedData(t *testing.T) {
	t.Parallel()
	sealed, err := security.EncryptFor([]byte("s3cret"), testKey, []byte("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := security.DecryptFor(sealed, testKey, []byte("smtp")); err != nil || string(got) != "s3cret" {
		t.Fatalf("DecryptFor = %q, %v", got, err)
	}
	for _, ad := range [][]byte{nil, []byte("oauth2"), []byte("smtp ")} {
		if _, err := security.DecryptFor(sealed, testKey, ad); !errors.Is(err, security.ErrDecrypt) {
			t.Errorf("opened with associated data %q: %v", ad, err)
		}
	}
}
