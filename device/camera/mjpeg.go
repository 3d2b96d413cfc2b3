package camera

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// MJPEGStream reads frames from an IP camera's MJPEG stream over HTTP
// (Content-Type multipart/x-mixed-replace, one JPEG per part).
type MJPEGStream struct {
	url    string
	client *http.Client
	body   io.ReadCloser
	parts  *mjpegReader
}

// NewMJPEGStream returns a source for the stream at url. A nil client
// means http.DefaultClient. The connection opens on the first Next and
// opens again after an error.
func NewMJPEGStream(url string, client *http.Client) *MJPEGStream {
	if client == nil {
		client = http.DefaultClient
	}
	return &MJPEGStream{url: url, client: client}
}

// Next returns the next frame of the stream.
func (s *MJPEGStream) Next(ctx context.Context) (*image.Gray, error) {
	if s.parts == nil {
		if err := s.connect(ctx); err != nil {
			return nil, err
		}
	}
	img, err := nextMJPEGFrame(s.parts)
	if err != nil {
		s.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("mjpeg stream %s: %w", s.url, err)
	}
	return img, nil
}

func (s *MJPEGStream) connect(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return fmt.Errorf("mjpeg stream: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("mjpeg stream: %w (is the camera on the network and the URL right?)", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("mjpeg stream %s: HTTP status %s (check the camera's stream URL and credentials)", s.url, resp.Status)
	}
	boundary, err := mjpegBoundary(resp.Header.Get("Content-Type"))
	if err != nil {
		resp.Body.Close()
		return fmt.Errorf("mjpeg stream %s: %w", s.url, err)
	}
	s.body = resp.Body
	s.parts = newMJPEGReader(resp.Body, boundary)
	return nil
}

// mjpegBoundary returns the part boundary of a multipart/x-mixed-replace
// content type. Some cameras repeat the leading "--" in the parameter.
func mjpegBoundary(contentType string) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("content type %q: %w", contentType, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return "", fmt.Errorf("content type %q is not an MJPEG stream (want multipart/x-mixed-replace)", mt)
	}
	b := strings.TrimPrefix(params["boundary"], "--")
	if b == "" {
		return "", fmt.Errorf("content type %q has no boundary", contentType)
	}
	return b, nil
}

// mjpegReader splits a multipart/x-mixed-replace stream into frames. It
// does not wait for the boundary after a frame (the camera sends it with
// the next frame): a part ends after its Content-Length bytes or, without
// that header, at the JPEG end-of-image marker.
type mjpegReader struct {
	br       *bufio.Reader
	tp       *textproto.Reader
	boundary string
}

func newMJPEGReader(r io.Reader, boundary string) *mjpegReader {
	br := bufio.NewReaderSize(r, 64<<10)
	return &mjpegReader{br: br, tp: textproto.NewReader(br), boundary: boundary}
}

// MaxFrameBytes bounds one JPEG frame of an MJPEG stream; a 4K frame at
// high quality is well under it.
const MaxFrameBytes = 8 << 20

// maxPreamble bounds the bytes skipped while looking for a boundary.
const maxPreamble = 1 << 20

// next returns the bytes of the next part.
func (m *mjpegReader) next() ([]byte, error) {
	delim := "--" + m.boundary
	skipped := 0
	for {
		line, err := m.br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) && skipped == 0 && len(line) == 0 {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("look for the next part: %w", err)
		}
		skipped += len(line)
		if skipped > maxPreamble {
			return nil, fmt.Errorf("no part boundary %q in %d bytes: not an MJPEG stream", delim, skipped)
		}
		t := strings.TrimRight(string(line), "\r\n \t")
		if t == delim+"--" {
			return nil, io.EOF
		}
		if t == delim {
			break
		}
	}
	hdr, err := m.tp.ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("read part header: %w", err)
	}
	if cl := hdr.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(strings.TrimSpace(cl))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("part has a bad Content-Length %q", cl)
		}
		if n > MaxFrameBytes {
			return nil, fmt.Errorf("part of %d bytes: %w", n, ErrImageTooLarge)
		}
		// Read without trusting the length for the allocation.
		b, err := io.ReadAll(io.LimitReader(m.br, int64(n)))
		if err != nil {
			return nil, fmt.Errorf("read part: %w", err)
		}
		if len(b) < n {
			return nil, fmt.Errorf("read part: %w", io.ErrUnexpectedEOF)
		}
		return b, nil
	}
	// No length: read to the JPEG end-of-image marker.
	var b []byte
	for {
		chunk, err := m.br.ReadSlice(0xd9)
		b = append(b, chunk...)
		if len(b) > MaxFrameBytes {
			return nil, fmt.Errorf("part longer than %d bytes: %w", MaxFrameBytes, ErrImageTooLarge)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("read part: %w", err)
		}
		if err == nil && len(b) >= 2 && b[len(b)-2] == 0xff {
			return b, nil
		}
	}
}

// nextMJPEGFrame reads the next part of an MJPEG stream and decodes it.
func nextMJPEGFrame(parts *mjpegReader) (*image.Gray, error) {
	data, err := parts.next()
	if err != nil {
		return nil, err
	}
	return decodeJPEGFrame(data)
}

// decodeJPEGFrame decodes one JPEG frame from a camera. Motion-JPEG
// cameras often leave out the Huffman tables, which a JPEG decoder needs;
// the standard tables (ITU T.81 Annex K) are put in when missing.
func decodeJPEGFrame(data []byte) (*image.Gray, error) {
	return decodeGray(withHuffmanTables(data))
}

// withHuffmanTables inserts the standard DHT segment before the first SOS
// of a JPEG that has none. Other data is returned as is.
func withHuffmanTables(b []byte) []byte {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return b
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xff {
			return b
		}
		marker := b[i+1]
		switch {
		case marker == 0xc4: // DHT present
			return b
		case marker == 0xda: // SOS without a DHT before it
			out := make([]byte, 0, len(b)+len(standardDHT))
			out = append(out, b[:i]...)
			out = append(out, standardDHT...)
			return append(out, b[i:]...)
		case marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7):
			i += 2
			continue
		case marker == 0xff: // fill byte
			i++
			continue
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		if n < 2 {
			return b
		}
		i += 2 + n
	}
	return b
}

// standardDHT is a DHT segment with the four tables of ITU T.81 Annex K.3.
var standardDHT = func() []byte {
	tables := [][]byte{
		// Luminance DC.
		append([]byte{0x00, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0},
			0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
		// Luminance AC.
		append([]byte{0x10, 0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d},
			0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
			0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
			0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
			0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
			0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
			0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
			0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
			0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
			0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
			0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa),
		// Chrominance DC.
		append([]byte{0x01, 0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
			0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
		// Chrominance AC.
		append([]byte{0x11, 0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77},
			0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
			0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
			0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
			0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
			0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
			0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
			0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
			0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
			0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
			0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa),
	}
	body := bytes.Join(tables, nil)
	n := len(body) + 2
	return append([]byte{0xff, 0xc4, byte(n >> 8), byte(n)}, body...)
}()

// Close ends the HTTP connection.
func (s *MJPEGStream) Close() error {
	if s.body != nil {
		s.body.Close()
	}
	s.body, s.parts = nil, nil
	return nil
}
