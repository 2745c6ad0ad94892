require ["relational", "comparator-i;ascii-numeric", "date", "index"];
if allof(address :count "ge" :comparator "i;ascii-numeric" ["to","cc"] "2", date :index 1 :zone "-0500" "date" "weekday" "5") { discard; }
