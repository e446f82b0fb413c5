/* placeholder: replaced by its owner */
typedef int imap_placeholder;
