require "reject";
reject text:
line one
..dotted
.
;
