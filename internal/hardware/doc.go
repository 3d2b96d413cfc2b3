// Package hardware opens the devices that the terminal's configuration
// names: a lane's scanners, camera, thermometer and outputs (relay, light
// tower and buzzer). The daemon (internal/terminal) and the installer's
// commands (cmd/sentinelctl selftest, scan and calibrate) both open their
// devices here, so a configuration means the same to both.
//
// The device packages do the work; this package only maps each
// configuration block to the right constructor, and reads a camera's
// frames as a scanner reads codes (CameraSource). Its subpackage gatedev
// hands the devices to the gate in the gate's words. Its own access to the
// operating system (opening an I²C bus, listing a replay camera's
// directory) goes through unexported variables that its tests replace.
//
// # Caveats
//
// Scanners open their device on the first Next, so a scanner that is
// unplugged now is no error here. A thermometer's bus, by contrast, is
// opened at once: the caller closes it.
package hardware
