/* The national gambling-ban list (in France the ANJ's "fichier des interdits de jeux"): people
 * who must not play. Production would ask the regulator's service; here the list is a file, the
 * stand-in, named by an accounts node's `ban_list_file`. It is read at start (a bad file refuses
 * the start, naming the key) and read again whenever its modification time, size or inode
 * changes (an accounts node stats it every 200 ms and reads it on a worker thread); a file that
 * breaks later keeps the last good list (logged as an error, counted in metrics) rather than
 * letting everyone through or no one.
 *
 * Format: UTF-8 text, one entry per line; blank lines and lines starting with '#' are ignored.
 *
 *     person: FAMILY NAME|Given names|YYYY-MM-DD
 *     email: someone@example.org
 *
 * A person is matched on the birth (family) name, the given names and the birth date, all
 * normalised: letters lower-cased, the accented Latin letters French names use folded to their
 * base letter (é -> e, ç -> c, œ -> oe, ß -> ss ...), hyphens, apostrophes, dots and runs of
 * spaces made one space, ends trimmed. The given names match when they are equal after that,
 * or when the first given name is the same on both sides (the registry and FranceConnect do
 * not always list every given name). An email entry is matched on the normalised address
 * (accounts_email_normalise), for players whose identity is not verified yet.
 *
 * Where it is checked (node/routes_signin.c, node/routes_franceconnect.c): registration (the
 * email), every password sign-in (the email and, for a verified player, their identity), every
 * FranceConnect callback (the identity FranceConnect certifies). A refusal is 403 problem+json
 * with code `banned`; for an existing player the node first commits CMD_WALLET_BAN so that the
 * wallet refuses their deposits and holds with `banned` too, on every node. The leader also
 * sweeps the list against every player with a wallet profile when the file changes (and every
 * minute): newly listed players are banned at once, players no longer listed have the list's
 * ban lifted (node/routes_wallet.c, ban_sweep).
 *
 * Failure modes: a missing or unreadable file, a line that is not one of the two forms, a bad
 * date or email: banlist_open fails with the line number; later reloads keep the old list. */
#ifndef PARLAY_BANLIST_H
#define PARLAY_BANLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct banlist;

/* Read @path. Returns NULL and a message in @err (naming the line) when it cannot be used. */
struct banlist *banlist_open(const char *path, char *err, size_t errlen);
void banlist_free(struct banlist *b);
const char *banlist_path(const struct banlist *b);

/* Reloading without stalling the caller's loop (a list of a million entries takes seconds):
 * banlist_stale (one stat) says whether the file changed since the list in force was read (or
 * since a version failed to load); banlist_load reads it into a new list on any thread (always
 * returns one; banlist_ok tells whether it is usable, @err why not); banlist_adopt, on the
 * owner's thread, puts a good one in force or records the failed version (the old list stays),
 * and frees @fresh. */
bool banlist_stale(struct banlist *b);
struct banlist *banlist_load(const char *path, char *err, size_t errlen);
bool banlist_ok(const struct banlist *b);
void banlist_adopt(struct banlist *b, struct banlist *fresh);

/* The three at once, on the caller's thread: 1 when reloaded, 0 when unchanged, -1 when the
 * changed file could not be used (the old list stays; the reason in @err). */
int banlist_refresh(struct banlist *b, char *err, size_t errlen);

/* Is this person listed? @birthdate is YYYY-MM-DD. NULL fields never match. */
bool banlist_person(struct banlist *b, const char *family, const char *given,
                    const char *birthdate);
/* Is this email address listed? */
bool banlist_email(struct banlist *b, const char *email);

/* Entries in force, reloads done and failed reloads (for metrics). */
size_t banlist_size(const struct banlist *b);
uint64_t banlist_reloads(const struct banlist *b);
uint64_t banlist_reload_failures(const struct banlist *b);

/* The normalised form of a name (see above) into @out; exposed for the tests. */
void banlist_normalise_name(const char *in, char *out, size_t n);

#endif
