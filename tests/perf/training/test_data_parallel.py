"""Data parallelism: gradient traffic only across replicas, over the chosen fabric."""

from trainhelp import est


def test_data_parallel_communication_only_across_replicas():
    one = est(tp=8, pp=8, num_gpus=64, zero=0)  # dp = 1: nothing to reduce
    assert one.item("dp_comm_s") == 0
    # a small batch on many replicas cannot hide its gradient all-reduce
    many = est("llama3-8b", num_gpus=1024, tp=1, pp=1, zero=0, global_batch=1024, seq_len=1024)
    assert many.item("dp_comm_s") > 0


def test_fabric_choice_matters_when_data_parallel_crosses_nodes():
    kw = dict(model="llama3-8b", num_gpus=1024, tp=1, pp=1, global_batch=1024, seq_len=2048, zero=0)
    ib = est(**kw, fabric="infiniband-ndr")
    roce = est(**kw, fabric="roce")
    assert roce.item("dp_comm_s") > ib.item("dp_comm_s")
