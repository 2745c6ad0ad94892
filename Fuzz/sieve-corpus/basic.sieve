require ["fileinto", "copy"];
if header :contains "subject" "hello" { fileinto :copy "Greetings"; stop; }
keep;
