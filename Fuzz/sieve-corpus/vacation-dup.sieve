require ["vacation", "vacation-seconds", "duplicate", "envelope", "subaddress"];
if not duplicate :seconds 60 { vacation :seconds 0 :subject "Away" :addresses ["a@b.c"] "gone"; }
if envelope :detail "to" "x" { discard; }
