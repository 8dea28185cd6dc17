using System.Net;
using System.Text.Json;

namespace Switchboard.Security.Tests.Support;

/// <summary>Reads an HTTP answer as a verdict: 401 / 403 must be problem+json with the right code (401 with a challenge).</summary>
internal static class HttpVerdicts
{
    /// <summary>
    /// <paramref name="success"/> → allowed, provided <paramref name="works"/> (given the JSON body, or default when
    /// there is none) finds nothing wrong; 401 / 403 → the refusal with its detail; anything else is broken.
    /// </summary>
    public static async Task<Observed> JudgeAsync(HttpResponseMessage response, HttpStatusCode success, Func<JsonElement, string?>? works = null)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == success)
            {
                var body = text.Length > 0 && response.Content.Headers.ContentType?.MediaType?.EndsWith("json", StringComparison.Ordinal) == true
                    ? JsonDocument.Parse(text).RootElement.Clone()
                    : default;
                return works?.Invoke(body) is { } wrong ? Observed.Broken($"{(int)success} but {wrong}: {Shorten(text)}") : Observed.Allowed;
            }
            return Refusal(response, text);
        }
    }

    /// <summary>A 401 or 403 answer as a verdict (checked to be a problem with the matching code); anything else is broken.</summary>
    public static Observed Refusal(HttpResponseMessage response, string text)
    {
        var (verdict, code) = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => (Verdict.Unauthenticated, "unauthorized"),
            HttpStatusCode.Forbidden => (Verdict.Forbidden, "forbidden"),
            _ => (Verdict.Broken, ""),
        };
        if (verdict == Verdict.Broken)
        {
            return Observed.Broken($"{(int)response.StatusCode} {Shorten(text)}");
        }
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return Observed.Broken($"{(int)response.StatusCode} is not problem+json: {response.Content.Headers.ContentType}");
        }
        if (verdict == Verdict.Unauthenticated && !response.Headers.WwwAuthenticate.Any(h => h.Scheme == "Bearer"))
        {
            return Observed.Broken("401 without a WWW-Authenticate: Bearer challenge");
        }
        var problem = JsonDocument.Parse(text).RootElement;
        if (problem.GetProperty("code").GetString() != code || problem.GetProperty("status").GetInt32() != (int)response.StatusCode)
        {
            return Observed.Broken($"{(int)response.StatusCode} with the wrong problem: {Shorten(text)}");
        }
        return new Observed(verdict, problem.GetProperty("detail").GetString() ?? "");
    }

    public static string Shorten(string text) => text.Length > 300 ? text[..300] + "…" : text;
}
