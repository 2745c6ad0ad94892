// libzstd (Debian's libzstd-dev, Meta's Zstandard): compresses stored message bodies (MailStore's
// BlobCodec). The header and library come from the system (scripts/setup-build-deps.sh installs them).
#ifndef SEALBOX_CZSTD_SHIM_H
#define SEALBOX_CZSTD_SHIM_H
#include <zstd.h>
#endif
