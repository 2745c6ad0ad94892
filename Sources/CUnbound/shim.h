// libunbound (Debian's libunbound-dev, NLnet Labs): the validating resolver behind DNSResolver.
// The header and library come from the system (scripts/setup-build-deps.sh installs them).
#ifndef SEALBOX_CUNBOUND_SHIM_H
#define SEALBOX_CUNBOUND_SHIM_H
#include <unbound.h>
#endif
