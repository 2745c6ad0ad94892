enum IMAPServerPlaceholder {}
