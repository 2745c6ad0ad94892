require ["spamtest", "spamtestplus", "virustest", "environment", "relational", "comparator-i;ascii-numeric"];
if anyof(spamtest :percent :value "gt" :comparator "i;ascii-numeric" "50", virustest :value "eq" :comparator "i;ascii-numeric" "0", environment :matches "name" "*") { keep; }
