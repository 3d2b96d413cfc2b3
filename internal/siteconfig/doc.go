// Package siteconfig is the schema of the config bundle (trust.KindConfig):
// the site settings that ops manage for a terminal (site type, retention,
// display language and time zone, the guards and their PIN hashes), their
// wire form in the signed bundle, and the TOML file ops write them in.
//
// The terminal's gate reads the settings, the centre checks them before it
// signs a config bundle, and the ops command line writes and hashes them;
// all three share this package, which imports nothing of the terminal or
// the centre.
//
// Two forms:
//
//   - The bundle payload: a deterministic CBOR map with integer keys
//     (Marshal, Parse). Machines write it and sign it.
//   - The site settings file: TOML that ops edit by hand (ParseTOML,
//     Example). It is decoded strictly: an unknown key, a value of the wrong
//     type or an invalid value is an error naming its line.
//
// The admission thresholds (fever, the verdict for yellow codes, paper
// codes, a faulty thermometer) are not site settings: they travel with the
// rules in the policy bundle (internal/policy.Bundle), so that each key
// lives in one place only.
package siteconfig
