/* run_unit.c - main() for every CUnit test executable: registers the file's suite(s) through
 * FY_TEST_INIT, honours FERRY_TEST_SUITE=<name> to run one suite, returns the failure count. */
#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

int FY_TEST_INIT(void);

int main(void)
{
    const char *only = getenv("FERRY_TEST_SUITE");
    unsigned failures;

    curl_global_init(CURL_GLOBAL_DEFAULT); /* as ferry's main() does, before any thread */
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    if (FY_TEST_INIT() != 0) {
        fprintf(stderr, "test registration failed: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (only != NULL && *only != '\0') {
        CU_pSuite s = CU_get_suite(only);
        if (s == NULL) {
            fprintf(stderr, "no suite named '%s'\n", only);
            CU_cleanup_registry();
            return 1;
        }
        CU_basic_run_suite(s);
    } else {
        CU_basic_run_tests();
    }
    failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failures > 0 ? 1 : 0;
}
