package security

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// ErrDecrypt is returned for ciphertext that was not sealed with the key:
// tampered, truncated or encrypted with another key.
var ErrDecrypt = errors.New("security: cannot decrypt")

func gcmFor(key string) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("security: encryption key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Encrypt seals plaintext with AES-256-GCM under key (32 bytes, the
// HG_ENCRYPTION_KEY) and returns the random nonce followed by the
// ciphertext, base64 (standard, padded) encoded. Encrypting the same text
// twice gives different results.
func Encrypt(plaintext []byte, key string) (string, error) {
	return EncryptFor(plaintext, key, nil)
}

// EncryptFor is Encrypt bound to ad, associated data that is not stored
// but must be given again to decrypt (for example what the value is for),
// so that a sealed value moved to another use does not open there.
func EncryptFor(plaintext []byte, key string, ad []byte) (string, error) {
	aead, err := gcmFor(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, plaintext, ad)), nil
}

// Decrypt opens what Encrypt returned for the same key.
func Decrypt(ciphertext, key string) ([]byte, error) {
	return DecryptFor(ciphertext, key, nil)
}

// DecryptFor opens what EncryptFor returned for the same key and ad.
func DecryptFor(ciphertext, key string, ad []byte) ([]byte, error) {
	aead, err := gcmFor(key)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrDecrypt
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}
