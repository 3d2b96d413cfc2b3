package terminal

// The site's time zone comes from the site settings (internal/siteconfig)
// as an IANA name. A terminal image or a centre container may ship without
// a zoneinfo database, and then the name would silently mean UTC on the
// display (or be refused at publishing): the binary carries its own copy.
import _ "time/tzdata"
