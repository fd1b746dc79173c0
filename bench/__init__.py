"""ftrag: fine-tuning versus RAG, measured.

The package is layered; imports flow one way, downwards (tests/test_layout.py checks it):

    cli                      the command line                                   (top)
    experiments              experiments on a finished run: knowledge update, forgetting
    run                      orchestration: one run, stage after stage
    report                   verdict, tables, plots, Markdown/HTML/CSV           (no torch)
    eval                     metrics, statistics, cost, the score stage          (no torch)
    training                 fine-tuning: training pairs and the loop
    arms                     prompts, context sources, answering, the judge
    models, retrieval        model loading and inference; chunks, embeddings, FAISS
    data                     task files, dataset loaders, the synthetic domain
    records                  typed records between stages, settings, I/O, cache keys (bottom)
"""
