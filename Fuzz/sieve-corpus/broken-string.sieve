if header :is "subject" "a
