using Folio.Models.Loading;
using Folio.Models;
using Folio.Text.Tokenization;
namespace Folio.ModelTools;

/// <summary>
/// A fixed English text, written for Folio, from which the synthetic tokenizers learn their
/// merges. Changing it changes every synthetic vocabulary (and so every test model): don't.
/// </summary>
internal static class SyntheticCorpus
{
    public const string Text = """
        The harbour town woke slowly on the first cold morning of the year. Fishermen carried their
        nets down to the water, and the baker on the corner opened his shutters before the sun had
        cleared the hills. Children ran along the sea wall, counting the boats that were already out
        and guessing which of them would come back first with a full catch.

        Nobody in the town remembered exactly when the lighthouse had been built. Some said it was
        older than the church; others insisted that their grandparents had watched the stones being
        carried up from the quarry. What everyone agreed on was that the light had never once failed,
        not in storms, not in fog, and not in the long winter when the harbour froze.

        Maria kept the light. She was sixty-two years old, she had climbed the one hundred and twelve
        steps twice a day for thirty years, and she did not intend to stop. Every evening she wrote in
        a thick blue notebook: the time the lamp was lit, the direction of the wind, the number of ships
        she could see, and anything else that seemed worth remembering. "A record is a promise," she
        liked to say. "It tells the next keeper what to expect, and it tells the sea that we are paying
        attention."

        In the spring a young engineer arrived with a plan to replace the old lamp with an automatic
        one. He was polite, he was careful, and he was very sure of himself. He measured the tower,
        photographed the lens, and spent three days reading Maria's notebooks. On the fourth day he came
        to her with a question she had not expected: why were there no entries for the nights of the
        great storm, twenty years before?

        Maria was quiet for a long time. Then she told him the story. The wind had broken the windows
        at the top of the tower, the lamp had gone out twice, and she had relit it by hand with a box of
        matches and a coat held over her head. She had not written anything because she had not stopped
        working until morning, and by then it had seemed more important to sleep than to write.

        The engineer wrote the story down in his own report. He did not replace the lamp that year. He
        added a second, smaller light beside the first, so that if one failed the other would keep
        burning, and he left a new notebook on the table at the top of the stairs. On the first page he
        had written the date, the direction of the wind, and a single line: "Two lights are better than
        one, but a keeper is better than both."

        Years later, when the automatic lamps had been installed in every harbour along the coast,
        visitors still climbed the steps to read the notebooks. They learned how to tell the weather
        from the colour of the clouds, how many boats had sailed in each season, and how a small town
        could depend for so long on the patience of one person who simply kept going.
        """;
}
