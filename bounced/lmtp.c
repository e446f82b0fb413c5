/* placeholder: replaced by its owner */
typedef int lmtp_placeholder;
