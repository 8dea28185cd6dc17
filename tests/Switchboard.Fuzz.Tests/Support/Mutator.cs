namespace Switchboard.Fuzz.Tests.Support;

/// <summary>
/// Turns valid samples into nearly-valid inputs, the way AFL's havoc stage does: 1 to 6 stacked edits among
/// bit flips, interesting values, truncation, deletion, duplication, splices with another sample, random runs,
/// dictionary tokens (huge numbers, lone surrogates, the format's keywords), numbers replaced by huge ones,
/// deep nesting and invalid UTF-8. Works on bytes (frames, bodies) and on chars (query values, names, ids).
/// </summary>
internal sealed class Mutator<T>(Random random, IReadOnlyList<T[]> samples, IReadOnlyList<T[]> tokens, Func<Random, T> anyElement, Func<T, bool> isDigit, int maxLength)
{
    private const int Operations = 13;

    public T[] Next()
    {
        var input = new List<T>(Pick(samples));
        // Mostly one edit (the input stays close to valid and reaches deep code), sometimes a stack of up to six.
        var edits = random.Next(3) == 0 ? 2 + random.Next(5) : 1;
        for (var i = 0; i < edits && input.Count <= maxLength; i++)
        {
            Edit(input);
        }
        if (input.Count > maxLength)
        {
            input.RemoveRange(maxLength, input.Count - maxLength);
        }
        return [.. input];
    }

    private void Edit(List<T> input)
    {
        var at = random.Next(input.Count + 1);
        switch (random.Next(Operations))
        {
            case 0 when input.Count > 0: // a few random elements replaced
                for (var n = 1 + random.Next(3); n > 0; n--)
                {
                    input[random.Next(input.Count)] = anyElement(random);
                }
                break;
            case 1 when input.Count > 0: // truncated
                input.RemoveRange(at == input.Count ? at - 1 : at, input.Count - (at == input.Count ? at - 1 : at));
                break;
            case 2 when input.Count > 0: // a range deleted
                var start = random.Next(input.Count);
                input.RemoveRange(start, Math.Min(input.Count - start, 1 + random.Next(16)));
                break;
            case 3 when input.Count > 0: // a range duplicated somewhere else
                var from = random.Next(input.Count);
                var length = Math.Min(input.Count - from, 1 + random.Next(64));
                input.InsertRange(at, input.GetRange(from, length));
                break;
            case 4: // spliced: this one's head, another sample's tail
                var other = Pick(samples);
                var cut = random.Next(other.Length + 1);
                input.RemoveRange(at, input.Count - at);
                input.AddRange(other.AsSpan(cut).ToArray());
                break;
            case 5: // random run
                for (var n = 1 + random.Next(16); n > 0; n--)
                {
                    input.Insert(at, anyElement(random));
                }
                break;
            case 6 or 7: // a dictionary token inserted
                input.InsertRange(at, Pick(tokens));
                break;
            case 8 when input.Count > 0: // a range replaced by a token
                var begin = random.Next(input.Count);
                input.RemoveRange(begin, Math.Min(input.Count - begin, 1 + random.Next(8)));
                input.InsertRange(begin, Pick(tokens));
                break;
            case 9: // a number made huge (or the first digits found from a random place)
                ReplaceNumber(input);
                break;
            case 10: // deep nesting
                var open = Pick(Nesting);
                var depth = Math.Min(random.Next(4) == 0 ? 2_000 + random.Next(20_000) : 60 + random.Next(200), Math.Max(0, maxLength - input.Count) / open.Length);
                var run = new T[depth * open.Length];
                for (var n = 0; n < depth; n++)
                {
                    open.CopyTo(run, n * open.Length);
                }
                input.InsertRange(at, run); // one insertion: the tail moves once, not once per level
                break;
            case 11: // the whole input repeated (long inputs, long names)
                var copy = input.ToArray();
                for (var n = 1 + random.Next(8); n > 0 && input.Count < maxLength; n--)
                {
                    input.AddRange(copy);
                }
                break;
            default: // a single element swapped for a dictionary token's first element
                if (input.Count > 0)
                {
                    var token = Pick(tokens);
                    if (token.Length > 0)
                    {
                        input[random.Next(input.Count)] = token[random.Next(token.Length)];
                    }
                }
                break;
        }
    }

    private void ReplaceNumber(List<T> input)
    {
        var start = random.Next(input.Count + 1);
        while (start < input.Count && !isDigit(input[start]))
        {
            start++;
        }
        var end = start;
        while (end < input.Count && isDigit(input[end]))
        {
            end++;
        }
        input.RemoveRange(start, end - start);
        input.InsertRange(start, Pick(HugeNumbers));
    }

    private TItem Pick<TItem>(IReadOnlyList<TItem> items) => items[random.Next(items.Count)];

    /// <summary>Set by the factory: openers of deep nesting and huge numbers, in this mutator's element type.</summary>
    public IReadOnlyList<T[]> Nesting { get; init; } = [];
    public IReadOnlyList<T[]> HugeNumbers { get; init; } = [];
}
