import { describe, expect, it } from 'vitest';
import { formatHubId, hubFileUrl, HubIdError, parseHubId } from '../../runtime/sources/hub-id';

describe('hub ids', () => {
  it('parses repositories, revisions and paths', () => {
    expect(parseHubId('hf:openai-community/gpt2')).toEqual({
      repo: 'openai-community/gpt2',
      revision: 'main',
      path: '',
    });
    expect(parseHubId('hf:EleutherAI/pythia-70m@step3000')).toEqual({
      repo: 'EleutherAI/pythia-70m',
      revision: 'step3000',
      path: '',
    });
    expect(parseHubId('hf:google/gemma-scope-2b-pt-res/layer_20/width_16k/average_l0_71')).toEqual({
      repo: 'google/gemma-scope-2b-pt-res',
      revision: 'main',
      path: 'layer_20/width_16k/average_l0_71',
    });
    expect(formatHubId(parseHubId('hf:a/b@v1.0/x/y'))).toBe('hf:a/b@v1.0/x/y');
  });

  it('builds the hub URLs Hugging Face clients use', () => {
    const id = parseHubId('hf:jbloom/GPT2-Small-SAEs-Reformatted/blocks.8.hook_resid_pre');
    expect(hubFileUrl('https://huggingface.co/', id, 'cfg.json')).toBe(
      'https://huggingface.co/jbloom/GPT2-Small-SAEs-Reformatted/resolve/main/blocks.8.hook_resid_pre/cfg.json',
    );
    expect(hubFileUrl('http://127.0.0.1:9', parseHubId('hf:o/n@v1.0'), 'a b.json')).toBe(
      'http://127.0.0.1:9/o/n/resolve/v1.0/a%20b.json',
    );
  });

  it.each(['gpt2', 'hf:', 'hf:gpt2', 'hf:/x', 'hf:o/../x', 'hf:o/n//x', 'hf:o/n@../../etc', 'hf:o/n@'])(
    'refuses %s naming it',
    (id) => {
      expect(() => parseHubId(id)).toThrow(HubIdError);
      expect(() => parseHubId(id)).toThrow(
        new RegExp(`^${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*expected hf:ORG/NAME`),
      );
    },
  );
});
