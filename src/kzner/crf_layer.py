"""A linear-chain CRF layer over the transformer's word scores.

The softmax head scores each word alone; a CRF layer (as in Lample et al.
2016, flair's ``use_crf``) adds a learned score for each tag-to-tag move and
trains the whole sentence's tag sequence at once, which is where multi-word
ORG and PROJECT names go wrong. Only the words' first sub-tokens take part
(the labelled positions), so the chain runs over words, not sub-tokens.

At prediction the layer gives each word its posterior marginal over the head's
outputs (forward-backward), not a Viterbi path: the rest of kzner (folding
KazNERD classes into ours, constrained decoding, confidence scores, active
learning's entropy) keeps working on per-word distributions unchanged. The
learned scores travel in the packaged ``config.json`` (``kzner_crf``), so the
weights file stays a plain token classifier that ``transformers`` loads.
"""

from __future__ import annotations

import torch

CONFIG_KEY = "kzner_crf"


def pack_words(positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move each row's marked positions to its front, in order.

    Returns the gather index [batch, words] into the sub-token axis and the
    mask of real words, trimmed to the longest row."""
    order = torch.sort((~positions).to(torch.int8), dim=1, stable=True).indices
    mask = positions.gather(1, order)
    width = int(mask.sum(1).max()) if mask.numel() else 0
    return order[:, :width], mask[:, :width]


class LinearChainCRF(torch.nn.Module):
    def __init__(self, num_tags: int) -> None:
        super().__init__()
        # Zero scores: the layer starts as the plain softmax head it replaces.
        self.transitions = torch.nn.Parameter(torch.zeros(num_tags, num_tags))  # [from, to]
        self.start = torch.nn.Parameter(torch.zeros(num_tags))
        self.end = torch.nn.Parameter(torch.zeros(num_tags))

    def _forward_scores(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """Log-sum of all paths ending in each tag at each word: [words] x [batch, tags]."""
        alpha = [self.start + emissions[:, 0]]
        for t in range(1, emissions.size(1)):
            step = torch.logsumexp(alpha[-1].unsqueeze(2) + self.transitions, dim=1) + emissions[:, t]
            alpha.append(torch.where(mask[:, t, None], step, alpha[-1]))
        return alpha

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z per row of [batch, words, tags] scores (rows without words: 0)."""
        if emissions.size(1) == 0:
            return emissions.new_zeros(emissions.size(0))
        total = torch.logsumexp(self._forward_scores(emissions, mask)[-1] + self.end, dim=1)
        return torch.where(mask[:, 0], total, torch.zeros_like(total))

    def path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The unnormalised score of the given tag path per row."""
        if emissions.size(1) == 0:
            return emissions.new_zeros(emissions.size(0))
        tags = tags.masked_fill(~mask, 0)
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        moved = self.transitions[tags[:, :-1], tags[:, 1:]]
        last = tags.gather(1, (mask.sum(1, keepdim=True) - 1).clamp(min=0)).squeeze(1)
        score = (emitted * mask).sum(1) + (moved * mask[:, 1:]).sum(1)
        return torch.where(
            mask[:, 0], score + self.start[tags[:, 0]] + self.end[last], torch.zeros_like(score)
        )

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Summed negative log-likelihood of the gold paths."""
        emissions = emissions.float()
        return (self.log_partition(emissions, mask) - self.path_score(emissions, tags, mask)).sum()

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """P(word t has tag k | sentence) as [batch, words, tags], by forward-backward."""
        emissions = emissions.float()
        if emissions.size(1) == 0:
            return emissions.softmax(-1)
        alpha = self._forward_scores(emissions, mask)
        lengths = mask.sum(1)
        beta = [self.end.expand_as(alpha[-1])]
        for t in range(emissions.size(1) - 1, 0, -1):
            step = torch.logsumexp(self.transitions + (emissions[:, t] + beta[0]).unsqueeze(1), dim=2)
            # Past a row's last word the backward score is the end score alone.
            beta.insert(0, torch.where((t < lengths)[:, None], step, beta[0]))
        joint = torch.stack(alpha, 1) + torch.stack(beta, 1)
        return (joint - torch.logsumexp(joint, dim=2, keepdim=True)).exp()

    def word_distributions(self, logits: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """[batch, sub-tokens, tags]: the CRF marginals at the marked positions
        (each row's words, in order, as one chain), softmax elsewhere."""
        out = logits.float().softmax(-1)
        index, mask = pack_words(positions)
        if index.size(1) == 0:
            return out
        expand = index.unsqueeze(2).expand(-1, -1, logits.size(-1))
        chained = self.marginals(logits.gather(1, expand), mask)
        current = out.gather(1, expand)
        return out.scatter(1, expand, torch.where(mask.unsqueeze(2), chained, current))

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, ignore: int) -> torch.Tensor:
        """Summed NLL of each row's labelled positions taken as one chain."""
        index, mask = pack_words(labels != ignore)
        expand = index.unsqueeze(2).expand(-1, -1, logits.size(-1))
        return self.nll(logits.gather(1, expand), labels.gather(1, index), mask)

    def to_config(self) -> dict[str, list]:
        return {name: p.detach().cpu().tolist() for name, p in self.named_parameters()}

    @classmethod
    def from_config(cls, saved: dict[str, list]) -> LinearChainCRF:
        layer = cls(len(saved["start"]))
        with torch.no_grad():
            for name, p in layer.named_parameters():
                p.copy_(torch.tensor(saved[name]))
        return layer
