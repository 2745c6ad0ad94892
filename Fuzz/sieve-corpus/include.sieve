require ["include", "variables"];
global "g";
include :once "ab";
include :optional :global "missing";
return;
