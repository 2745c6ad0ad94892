require ["ihave", "encoded-character", "mailbox", "special-use", "fileinto"];
if ihave "nosuch" { nosuch; }
if mailboxexists "${hex:41 42}" { fileinto :create :specialuse "\\Junk" "${unicode:263a}"; }
error "x";
