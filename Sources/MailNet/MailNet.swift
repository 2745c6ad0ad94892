enum MailNetPlaceholder {}
