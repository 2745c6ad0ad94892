require ["editheader", "imap4flags", "body"];
addheader :last "X-A" "b";
deleteheader :index 1 :contains "subject" "fuzz";
setflag "\\Seen"; addflag "$x";
if body :text :contains "body" { keep :flags "\\Flagged"; }
