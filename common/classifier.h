/* classifier.h: a small convolutional Fashion-MNIST classifier, the feature extractor behind the image
 * quality score (fid.h). Trained by ./score --train (README gives the exact command).
 *
 *   Classifier c;
 *   classifier_init(&c, &rng);                            // declare + allocate (random weights)
 *   if (classifier_load(&c, CLASSIFIER_CKPT)) return 1;   // or train: classifier_loss_grad + Adam (tools/score.c)
 *   classifier_eval(&c, x, n, feat, probs, &arena);       // x (n, 784) in [0, 1] -> feat (n, 128), probs (n, 10)
 *   classifier_free(&c);
 *
 * Layout (x mapped to [-1, 1] first):
 *   conv3x3 1->32 @28, ReLU, avgpool -> @14
 *   conv3x3 32->64 @14, ReLU, avgpool -> @7
 *   conv3x3 64->64 stride 2 @7 -> @4, ReLU, flatten 1024
 *   Linear 1024->128, ReLU       = the features (penultimate layer, CLASSIFIER_FEAT numbers)
 *   Linear 128->10               = the logits
 * About 0.17 M parameters (0.7 MB as float32).
 *
 * Ownership: Classifier owns its Params (classifier_free). classifier_eval's temporaries come from the
 * arena given and are released before it returns. Errors: load returns nonzero after a message naming
 * the file; shape errors are CHECKs.
 */
#ifndef CLASSIFIER_H
#define CLASSIFIER_H

#include "autograd.h"
#include "nn.h"
#include "rng.h"

#define CLASSIFIER_CKPT "checkpoints/fmnist_classifier.safetensors"
enum { CLASSIFIER_FEAT = 128, CLASSIFIER_CLASSES = 10, CLASSIFIER_MAX_NODES = 64 };

typedef struct {
    Params params;
    int    c1w, c1b, c2w, c2b, c3w, c3b;   /* conv weights (Co, Ci, 3, 3) and biases (Co) */
    Linear fc1, fc2;
} Classifier;

void    classifier_init(Classifier *c, Rng *rng);
void    classifier_free(Classifier *c);
/* Logits (N, 10) of images x (N, 784) in [0, 1]; *features (N, 128) if not NULL. */
AgNode *classifier_forward(AgTape *t, Classifier *c, const float *x, int N, AgNode **features);
/* Inference in batches: feat (n, 128) and/or probs (n, 10) = softmax of the logits (either may be NULL). */
void    classifier_eval(Classifier *c, const float *x, int n, float *feat, float *probs, Arena *arena);
/* The class of highest probability in a row p (10). */
int     classifier_argmax(const float *p);
/* One gradient of the mean cross-entropy on a batch (into c->params.grad, zeroed first); returns the loss. */
float   classifier_loss_grad(Classifier *c, const float *x, const unsigned char *labels, int B, Arena *arena);
/* Weights from / to a safetensors file (tensors "clf.<name>"). */
int     classifier_load(Classifier *c, const char *path) MUST_USE;
int     classifier_save(Classifier *c, const char *path, const char *metadata_json) MUST_USE;
/* A checksum (FNV-1a over the weights' bytes) that names this set of weights. */
unsigned long long classifier_checksum(const Classifier *c);

/* Mean cross-entropy of logits (N, K) against labels (N): (1/N) sum_n [logsumexp(z_n) - z_n,y_n];
 * d/dz_nk = (softmax(z_n)_k - [k = y_n]) / N. The labels are copied onto the tape. */
AgNode *ag_cross_entropy(AgTape *t, AgNode *logits, const unsigned char *labels);

#endif
