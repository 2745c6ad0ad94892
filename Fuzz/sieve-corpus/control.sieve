if anyof(not exists "x", size :over 1K, true) { /* c */ redirect "Name <u@example.com>"; } elsif false { keep; } else { discard; }
# end
