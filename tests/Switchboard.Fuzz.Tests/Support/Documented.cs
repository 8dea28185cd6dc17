using Switchboard.Core;
using Switchboard.Server.Sessions;

namespace Switchboard.Fuzz.Tests.Support;

/// <summary>The only ways a parser may refuse input: the product's exception with a client-error code of the error table.</summary>
internal static class Documented
{
    /// <summary>A <see cref="SwitchboardException"/> whose code is one of <paramref name="codes"/> (4xx rows of the table).</summary>
    public static Func<Exception, bool> Refusal(params ErrorCode[] codes) => ex => ex is SwitchboardException error && IsClientError(error.Code, codes);

    /// <summary>A <see cref="FrameException"/> (what a frame decoder throws) carrying such a refusal.</summary>
    public static Func<Exception, bool> FrameRefusal(params ErrorCode[] codes) => ex => ex is FrameException frame && IsClientError(frame.Error.Code, codes);

    private static bool IsClientError(ErrorCode code, ErrorCode[] codes)
        => ErrorTable.Get(code).HttpStatus is >= 400 and < 500 && (codes.Length == 0 || codes.Contains(code));
}
