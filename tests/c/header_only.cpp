// The header compiled as C++17 (-Wall -Wextra -Werror -pedantic): it must
// declare its functions with C linkage and its types as valid C++.
#include "kvp.h"

#include <type_traits>

static_assert(std::is_standard_layout<kvp_options>::value, "kvp_options is a C struct");
static_assert(std::is_standard_layout<kvp_entry>::value, "kvp_entry is a C struct");
static_assert(KVP_OK == 0, "KVP_OK is zero");

static int count(void *ctx, const char *, size_t, const char *, size_t)
{
    ++*static_cast<int *>(ctx);
    return KVP_FOREACH_CONTINUE;
}

int main()
{
    kvp_options options{};
    kvp_foreach_fn callback = count;
    // Taking the address of each function checks its declaration.
    kvp_status (*open_pool)(uint32_t, const char *, const kvp_options *, kvp_store **) = kvp_open_pool;
    kvp_status (*read)(const kvp_store *, const char *, char *, size_t, size_t *) = kvp_read;
    const char *(*status_str)(int) = kvp_status_str;
    (void)options;
    (void)callback;
    (void)open_pool;
    (void)read;
    (void)status_str;
    return 0;
}
