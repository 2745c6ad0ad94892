require ["variables", "regex", "fileinto"];
if header :regex "from" "([a-z]+)@(.*)" { set :upperfirst "u" "${1}"; fileinto "${u}/${2}"; }
