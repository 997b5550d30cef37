/* The Hugging Face Hub cache, laid out exactly as huggingface_hub does it, so
 * files downloaded by Python are found by lab and the reverse:
 *   <root>/models--<org>--<name>/blobs/<etag>
 *   <root>/models--<org>--<name>/snapshots/<commit>/<file> -> ../../blobs/<etag>
 *   <root>/models--<org>--<name>/refs/<revision>            (holds <commit>)
 * root: $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
 * else ~/.cache/huggingface/hub. */
#ifndef DS_HF_H
#define DS_HF_H

#include <stddef.h>

int ds_hf_cache_root(char *out, size_t cap);
/* <root>/models--org--name */
int ds_hf_repo_dir(const char *repo, char *out, size_t cap);
/* The snapshot path of `file` at `revision` (a branch/tag through refs/, or a
 * 40-hex commit); *found says whether it exists. */
int ds_hf_cached_path(const char *repo, const char *revision, const char *file, char *out, size_t cap, int *found);

/* The Hub base URL: $HF_ENDPOINT, else https://huggingface.co. */
const char *ds_hf_endpoint(void);
/* The token: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, else $HF_HOME/token (default
 * ~/.cache/huggingface/token). NULL when none. Never printed or logged. */
char *ds_hf_token(void);

/* Downloads <endpoint>/<repo>/resolve/<revision>/<file> into the cache (blob
 * named by X-Linked-Etag or ETag, snapshot symlink under the commit from
 * X-Repo-Commit, refs/<revision>); an existing snapshot entry is used
 * without any request. `out` gets the snapshot path. */
struct ds_fetch_opts;
int ds_hf_fetch(const char *repo, const char *revision, const char *file, const struct ds_fetch_opts *opts,
                char *out, size_t cap);

#endif
