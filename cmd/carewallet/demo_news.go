package main

import (
	"context"
	"fmt"
	"io"

	"carewallet/news"
)

// demoNews adds a news post with a poll (two patients voted), delivered to
// every cardholder, and a chat where the first patient asked and the
// manager answered with a bonus.
func demoNews(ctx context.Context, svc *services, clinicID, managerID string, patients []string, stdout io.Writer) error {
	post, err := svc.News.CreatePost(ctx, clinicID, managerID, news.Draft{
		Title: "Теперь работаем по субботам / Open on Saturdays",
		Body:  "С декабря мы принимаем по субботам с 10:00 до 16:00. / From December we are open on Saturdays, 10:00–16:00.",
		Poll:  &news.PollDraft{Options: []string{"Удобно / Great", "Не нужно / Not needed", "Не знаю / Not sure"}},
	})
	if err != nil {
		return fmt.Errorf("demo post: %w", err)
	}
	if _, err := svc.News.Fanout(ctx); err != nil {
		return fmt.Errorf("demo fan-out: %w", err)
	}
	for i, p := range patients[:min(2, len(patients))] {
		if _, err := svc.News.CastVote(ctx, p, post.ID, i+1); err != nil {
			return fmt.Errorf("demo vote: %w", err)
		}
	}
	th, _, err := svc.News.StartChat(ctx, patients[0], clinicID, "Можно перенести приём на субботу?")
	if err != nil {
		return fmt.Errorf("demo chat: %w", err)
	}
	if _, err := svc.News.ManagerReply(ctx, clinicID, managerID, th.ID, "demo-reply", news.Reply{
		Text:  "Конечно! Записали вас на субботу, 11:00. И держите бонус к празднику.",
		Bonus: &news.ReplyBonus{Points: 200, Reason: "holiday gift"}}); err != nil {
		return fmt.Errorf("demo reply: %w", err)
	}
	fmt.Fprintf(stdout, `
news: post %s (with a poll, 2 votes) went to every cardholder's inbox
  (GET /v1/news as a patient, GET /v1/clinic/news as the manager);
chat: thread %s, the first patient asked and the manager answered
  with 200 bonus points (GET /v1/chats, GET /v1/clinic/chats)
`, post.ID, th.ID)
	return nil
}
