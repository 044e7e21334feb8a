/* The header alone, compiled as strict C11 (-std=c11 -pedantic -Werror):
 * every type and macro it declares must be usable without anything else. */
#include "kvp.h"

int main(void)
{
    kvp_options options = {KVP_MODE_SAFE, KVP_LOCK_WAIT_FOREVER, false, KVP_DEFAULT_CREATE_MODE};
    kvp_entry entry = {"key", "value"};
    kvp_foreach_fn callback = NULL;
    kvp_store *store = NULL;
    kvp_status status = KVP_OK;
    size_t sizes = KVP_KEY_SIZE + KVP_VALUE_SIZE + KVP_MAX_UNIQUE_KEYS;
    (void)options;
    (void)entry;
    (void)callback;
    (void)store;
    (void)sizes;
    return (int)status + KVP_POOL_ID_GUEST - 1 + KVP_VERSION_MAJOR * 0;
}
