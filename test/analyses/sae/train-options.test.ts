/** Options an SAE kind does not read are refused by trainSae, not ignored. */
import { describe, expect, it } from 'vitest';
import { trainSae } from '../../../analyses/sae/train';
import { checkKindOptions } from '../../../analyses/sae/train-options';
import { loadStories260K } from '../../helpers/stories260k';

describe('SAE options by kind', () => {
  const { model, tokenizer } = loadStories260K();
  const text = 'Once upon a time there was a cat. '.repeat(50);
  const hook = 'blocks.1.hook_resid_post';

  it('trainSae refuses an L1 coefficient for TopK and ITDA, a threshold for all but ITDA', async () => {
    await expect(trainSae(model, tokenizer, text, { hook, kind: 'topk', l1Coefficient: 5 })).rejects.toThrow(
      'l1Coefficient is read by relu and jumprelu SAEs only, not topk',
    );
    await expect(trainSae(model, tokenizer, text, { hook, kind: 'itda', l1Coefficient: 5 })).rejects.toThrow(
      /not itda/,
    );
    await expect(
      trainSae(model, tokenizer, text, { hook, kind: 'relu', itdaThreshold: 0.2 }),
    ).rejects.toThrow('itdaThreshold is read by itda SAEs only, not relu');
  });

  it('each option is accepted by the kinds that read it and k is refused for ReLU and JumpReLU', () => {
    expect(() => checkKindOptions('relu', { l1Coefficient: 5 })).not.toThrow();
    expect(() => checkKindOptions('jumprelu', { l1Coefficient: 5 })).not.toThrow();
    expect(() => checkKindOptions('itda', { k: 8, itdaThreshold: 0.2 })).not.toThrow();
    expect(() => checkKindOptions('topk', { k: 8 })).not.toThrow();
    expect(() => checkKindOptions('jumprelu', { k: 8 }, { k: '--k' })).toThrow(
      '--k is read by topk, batchtopk and itda SAEs only, not jumprelu',
    );
  });
});
