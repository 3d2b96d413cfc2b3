package siteconfig

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Work factors and lengths of guard PINs.
const (
	// DefaultPINIterations is the PBKDF2-SHA-256 work factor HashPIN uses.
	DefaultPINIterations = 200_000
	// MinPINIterations and MaxPINIterations bound the work factor of a
	// hash a terminal accepts.
	MinPINIterations = 1000
	MaxPINIterations = 10_000_000
	// MinNewPINDigits is the shortest PIN CheckNewPIN lets ops give a
	// guard; MaxPINDigits the longest the override pad takes.
	MinNewPINDigits = 6
	MaxPINDigits    = 12
)

// ErrWeakPIN: a new guard PIN is too short or not only digits.
var ErrWeakPIN = errors.New("PIN refused")

// CheckNewPIN checks a PIN that ops are about to give a guard: 6 to 12
// digits, as the override pad takes them, neither one digit repeated nor
// a run such as 123456 or 654321.
func CheckNewPIN(pin string) error {
	if pin == "" {
		return fmt.Errorf("%w: it is empty: type %d to %d digits", ErrWeakPIN, MinNewPINDigits, MaxPINDigits)
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return fmt.Errorf("%w: it holds %q: the override pad has digits only, type %d to %d digits", ErrWeakPIN, r, MinNewPINDigits, MaxPINDigits)
		}
	}
	switch {
	case len(pin) < MinNewPINDigits:
		return fmt.Errorf("%w: %d digits is too short: type at least %d", ErrWeakPIN, len(pin), MinNewPINDigits)
	case len(pin) > MaxPINDigits:
		return fmt.Errorf("%w: %d digits: the override pad takes at most %d", ErrWeakPIN, len(pin), MaxPINDigits)
	case strings.Count(pin, pin[:1]) == len(pin):
		return fmt.Errorf("%w: one digit repeated is guessed first: choose another", ErrWeakPIN)
	case isRun(pin, 1) || isRun(pin, -1):
		return fmt.Errorf("%w: a run of digits such as 123456 is guessed first: choose another", ErrWeakPIN)
	}
	return nil
}

// isRun reports whether each digit of pin is the one before plus step
// (modulo 10): 123456, 890123, 654321.
func isRun(pin string, step int) bool {
	for i := 1; i < len(pin); i++ {
		if (int(pin[i]-'0')-int(pin[i-1]-'0')-step+20)%10 != 0 {
			return false
		}
	}
	return true
}

// HashPIN hashes a guard's PIN for the site settings: PBKDF2-SHA-256 with a
// random salt, written "pbkdf2-sha256$ITERATIONS$SALT$HASH" (base64). Zero
// iterations means DefaultPINIterations. It checks only that the PIN has 4
// digits or more; CheckNewPIN is the rule for new PINs.
func HashPIN(pin string, iterations int) (string, error) {
	if iterations == 0 {
		iterations = DefaultPINIterations
	}
	if iterations < MinPINIterations || iterations > MaxPINIterations {
		return "", fmt.Errorf("hash pin: %d iterations: want %d to %d", iterations, MinPINIterations, MaxPINIterations)
	}
	if len(pin) < 4 {
		return "", errors.New("hash pin: a PIN has at least 4 digits")
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	sum, err := pbkdf2.Key(sha256.New, pin, salt, iterations, 32)
	if err != nil {
		return "", fmt.Errorf("hash pin: %w", err)
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$" + strconv.Itoa(iterations) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(sum), nil
}

// parsePINHash splits a hash written by HashPIN.
func parsePINHash(h string) (iter int, salt, sum []byte, err error) {
	parts := strings.Split(h, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return 0, nil, nil, fmt.Errorf("%w: want pbkdf2-sha256$ITERATIONS$SALT$HASH", ErrPINHash)
	}
	iter, err = strconv.Atoi(parts[1])
	if err != nil || iter < MinPINIterations || iter > MaxPINIterations {
		return 0, nil, nil, fmt.Errorf("%w: iterations %q", ErrPINHash, parts[1])
	}
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[2]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return 0, nil, nil, fmt.Errorf("%w: salt", ErrPINHash)
	}
	if sum, err = enc.DecodeString(parts[3]); err != nil || len(sum) != 32 {
		return 0, nil, nil, fmt.Errorf("%w: hash", ErrPINHash)
	}
	return iter, salt, sum, nil
}

// CheckPIN reports whether pin matches hash.
func CheckPIN(hash, pin string) bool {
	iter, salt, sum, err := parsePINHash(hash)
	if err != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pin, salt, iter, len(sum))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, sum) == 1
}

// GuardBlock returns the [[guard]] block of a site settings file for the
// guard id with the PIN hash hash, as `sentinel-central config pin` prints
// it.
func GuardBlock(id, hash string) string {
	return fmt.Sprintf("[[guard]]\nid = %q\npin_hash = %q\n", id, hash)
}
