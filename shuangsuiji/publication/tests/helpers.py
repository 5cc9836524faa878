from shuangsuiji.protocol import draw as D
from shuangsuiji.publication import services


def result_doc(i: int, task: str = "SSJ-2027-0001") -> bytes:
    return D.dumps({"type": "result", "task": task, "n": i, "text": f"第{i}条"})


def fill(n: int) -> list[bytes]:
    """Append n documents; return their bytes in order."""
    docs = [result_doc(i) for i in range(n)]
    for doc in docs:
        services.append(doc)
    return docs
