/* Tests of tutorial.md (and README.md) against the programs: every `./chN --cell X` it names is a cell of
 * that program's table (looked up as --cell looks it up, with cli_find_cell), every embedded image
 * ![](figures/NAME.png) exists, and every section of a chapter gives a command and a "Try this". A student
 * who copies a command from the notebook must never meet "unknown cell". */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "ch1_vae.h"
#include "ch2_ddpm.h"
#include "ch3_smld.h"
#include "ch4_sde.h"
#include "ch5_fokker_planck.h"
#include "ddim.h"
#include "flow.h"

/* The whole file as one NUL-terminated string (the caller frees), NULL if it cannot be read. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)len + 1);
    size_t got = fread(s, 1, (size_t)len, f);
    fclose(f);
    s[got] = '\0';
    return s;
}

typedef const Cell *(*CellsFn)(int *n);
static const struct { const char *prog; CellsFn cells; } PROGRAMS[] = {
    { "ch1", ch1_cells }, { "ch2", ch2_cells }, { "ch3", ch3_cells },
    { "ch4", ch4_cells }, { "ch5", ch5_cells }, { "ddim", ddim_cells }, { "flow", flow_cells },
};

/* Every "./PROG --cell KEY" in text: KEY is found in PROG's table. Returns how many commands were checked. */
static int check_cells_named(const char *text, const char *file) {
    int checked = 0;
    for (const char *p = strstr(text, "./"); p; p = strstr(p + 2, "./")) {
        for (size_t k = 0; k < sizeof PROGRAMS / sizeof PROGRAMS[0]; k++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "./%s --cell ", PROGRAMS[k].prog);
            if (strncmp(p, prefix, strlen(prefix)) != 0) continue;
            const char *q = p + strlen(prefix);
            char key[32];
            size_t len = strspn(q, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
            ck_assert_msg(len > 0 && len < sizeof key, "%s: empty or long cell name after '%s'", file, prefix);
            memcpy(key, q, len);
            key[len] = '\0';
            while (len > 0 && key[len - 1] == '.') key[--len] = '\0';   /* a full stop ending the sentence */
            int n;
            const Cell *cells = PROGRAMS[k].cells(&n);
            ck_assert_msg(cli_find_cell(cells, n, key) >= 0, "%s names '%s%s', but %s has no such cell (see ./%s --list)",
                          file, prefix, key, PROGRAMS[k].prog, PROGRAMS[k].prog);
            checked++;
        }
    }
    return checked;
}

START_TEST(test_every_cell_named_in_tutorial_exists) {
    static const char *const files[2] = { "tutorial.md", "README.md" };
    char *text = slurp(files[_i]);
    ck_assert_msg(text != NULL, "cannot read %s (run the tests from the repository root, as make test does)", files[_i]);
    int checked = check_cells_named(text, files[_i]);
    /* the notebook names dozens of cells; a parser that finds none is broken, not a notebook without commands */
    ck_assert_int_ge(checked, _i == 0 ? 40 : 3);
    free(text);
}
END_TEST

START_TEST(test_every_embedded_image_exists) {
    char *text = slurp("tutorial.md");
    ck_assert_ptr_nonnull(text);
    int images = 0;
    for (const char *p = strstr(text, "]("); p; p = strstr(p + 2, "](")) {
        const char *q = p + 2, *end = strchr(q, ')');
        if (strncmp(q, "figures/", 8) != 0 || !end) continue;
        char path[256];
        size_t len = (size_t)(end - q);
        ck_assert_uint_lt(len, sizeof path);
        memcpy(path, q, len);
        path[len] = '\0';
        struct stat st;
        ck_assert_msg(stat(path, &st) == 0 && st.st_size > 0, "tutorial.md embeds %s, which does not exist", path);
        images++;
    }
    ck_assert_int_ge(images, 40);
    free(text);
}
END_TEST

/* Every "### " section inside a chapter (from "## Chapter 1" on) has an idea, a code pointer, a command that runs it
 * and one thing to try: the notebook's promise, idea -> equations -> code -> command -> figure -> try this. */
START_TEST(test_every_section_has_command_and_try_this) {
    char *text = slurp("tutorial.md");
    ck_assert_ptr_nonnull(text);
    const char *start = strstr(text, "\n## Chapter 1");
    ck_assert_ptr_nonnull(start);
    int sections = 0;
    for (const char *p = strstr(start, "\n### "); p; ) {
        const char *next = strstr(p + 1, "\n### "), *chapter = strstr(p + 1, "\n## ");
        const char *end = next ? next : text + strlen(text);
        if (chapter && chapter < end) end = chapter;
        char title[96];
        size_t tl = strcspn(p + 5, "\n");
        snprintf(title, sizeof title, "%.*s", (int)(tl < 90 ? tl : 90), p + 5);
        size_t len = (size_t)(end - p);
        char *sec = strndup(p, len);
        ck_assert_msg(strstr(sec, "**Idea.**") != NULL, "tutorial.md section '%s' has no **Idea.**", title);
        ck_assert_msg(strstr(sec, "**Code.**") != NULL, "tutorial.md section '%s' has no **Code.** pointer", title);
        ck_assert_msg(strstr(sec, " --cell ") != NULL, "tutorial.md section '%s' gives no command (./prog --cell X)", title);
        ck_assert_msg(strstr(sec, "**Try this.**") != NULL, "tutorial.md section '%s' has no **Try this.**", title);
        free(sec);
        sections++;
        p = next;
    }
    ck_assert_int_ge(sections, 30);
    free(text);
}
END_TEST

Suite *suite_tutorial(void) {
    Suite *s = suite_create("tutorial");
    TCase *tc = tcase_create("notebook");
    tcase_add_loop_test(tc, test_every_cell_named_in_tutorial_exists, 0, 2);
    tcase_add_test(tc, test_every_embedded_image_exists);
    tcase_add_test(tc, test_every_section_has_command_and_try_this);
    suite_add_tcase(s, tc);
    return s;
}
