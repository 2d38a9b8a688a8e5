// What may stand as a host name in a host certificate's principals and in a
// known_hosts pattern list: no whitespace or control characters, and none of
// the characters known_hosts gives a meaning (`,` separates, `*` `?` `!`
// `[` `]` are wildcards, negation and ports).
export const HOST_NAME_PATTERN = /^[^\s\p{Cc},*?![\]]+$/u;
